"""Pure room logic: authorization rules, power levels, membership."""
