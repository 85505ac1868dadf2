"""The formula-safe CSV writer every export uses."""

import csv
import io

from core.spreadsheet import csv_rows, spreadsheet_safe


def test_csv_cells_cannot_run_as_formulas():
    assert spreadsheet_safe('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("google") == "google"
    assert spreadsheet_safe(-3) == -3


def test_a_streamed_csv_neutralises_formulas_in_rows_but_not_in_the_header():
    text = "".join(csv_rows(["=name", "n"], [["=1+1", 3], ["ada", -1]]))
    assert list(csv.reader(io.StringIO(text))) == [["=name", "n"], ["'=1+1", "3"], ["ada", "-1"]]
