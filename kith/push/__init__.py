"""Push rules: predefined rules, per-user rule sets and event evaluation.

Spec: client-server-api/modules/push.md ("Push Rules", "Predefined Rules") and
data/api/client-server/pushrules.yaml. Everything in this package is pure:
plain JSON-like values in, plain values out; storage and HTTP live elsewhere.
"""
