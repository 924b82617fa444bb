"""Rule coverage against the HL7 validator's message catalogue (docs/rule-coverage.md).

`data` reads the coverage kept in profiles/rule-coverage, `our_ids` finds the message ids this engine
emits and documents and the tests that name them, and `rule_coverage` writes the Markdown page.
"""
