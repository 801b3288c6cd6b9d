"""The built-in web messenger: static assets built from web/ by `make`."""
