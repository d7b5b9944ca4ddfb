"""Reports drawn from documents only, and the words of progress: renderers in a registry.

`registry` lists every renderer by the document it draws (a run's results, a matrix, a bisect's
answer), file or terminal; `outputs.write_reports(result, folder)` writes a run's after it ends,
and `gateconform report results.json` re-renders any past run with the same bytes. `progress`
words the events of a run (`harness.engine.events`) for the terminal and pytest.
"""
