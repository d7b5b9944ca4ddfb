"""Reports drawn from the results document only: HTML, Markdown, JUnit XML and Allure results.

`outputs.write_reports(result, folder)` writes them all after a run; `gateconform report
results.json` re-renders any past run with the same bytes.
"""
