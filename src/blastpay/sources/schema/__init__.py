"""The committed inputs' models: one pydantic model per input kind, the documentation of each input.

| input | model |
|---|---|
| experiments/run.yaml | `run.RunInput` |
| experiments/sources/*.yaml | `sources.SourcesFile` (a list of `sources.SourceEntry`) |
| experiments/fees.yaml | `fees.FeeParams` |
| experiments/blast.yaml | `blast.BlastParams` |
| experiments/cohort.yaml | `cohort.CohortParams` |
| experiments/latency_scenarios.yaml | `latency.LatencyScenarios` |
| experiments/club.yaml | `club.ClubInput` |
| experiments/likelihood.yaml | `club.LikelihoodInput` |
| experiments/effort.yaml | `club.EffortInput` |
| experiments/mitigations.yaml | `mitigations.MitigationPolicyInput` |
| experiments/faults.yaml | `faults.FaultPlanInput` |
| experiments/call_sites.json | `call_sites.CallSites` |
| experiments/live/<date>-probe.json | `live_probe.LiveProbe` |
| experiments/measurements/pay_route_load.json | `measurements.LoadMeasurements` |
| docs/adr-approval.json | `approval.ApprovalItems` (or one `approval.ApprovalInput`, the earlier form) |

Every model refuses unknown keys and coerces nothing; every number is finite and in a stated range; dates are not
after the pinned as-of date (`experiments/run.yaml`). `blastpay.sources.inputs.load_input` reads a file and
validates it against its model, naming file:line on the first problem.

A new input kind: a model in a module of its own here (fields with their descriptions), a row above, a loader
that calls `load_input(path, Model, "what it is")` beside the code that uses it, a line in
`evidence.inputs.validate_inputs` so it is checked before the first notebook starts, and a row in the table of
`tests/test_inputs.py` (a valid file, a bad value, a missing key, an unknown key).
"""
