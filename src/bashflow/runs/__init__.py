"""runs - run history, events, live view and run control (issue 7; docs/runs.md).

stdlib only. The host side of `bashflow exec` uses `Recorder` (runs/recorder.py); the
`runs`, `show`, `cancel`, `pause`, `resume` and `rerun` commands read the same store.
"""
