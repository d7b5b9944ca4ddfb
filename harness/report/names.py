"""The file names of a report folder: where the registered renderers write by default, what pages link to."""

HTML_NAME = "report.html"
MATRIX_JSON_NAME = "matrix.json"
MATRIX_HTML_NAME = "matrix.html"
MATRIX_MARKDOWN_NAME = "matrix.md"
MARKDOWN_NAME = "summary.md"
JUNIT_NAME = "junit.xml"
ALLURE_DIR = "allure-results"
