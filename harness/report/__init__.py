"""Reports drawn from the results document only: HTML, Markdown, JUnit XML and Allure results.

`outputs.write_reports(result, folder)` writes them all after a run; `gateconform report
results.json` re-renders any past run with the same bytes. The matrix page (`matrix_html`) is
drawn the same way from a matrix document (`matrix.json`), in the same style.
"""
