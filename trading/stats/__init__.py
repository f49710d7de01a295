"""Statistics (交易统计): the monthly report due by the 3rd for the previous month — counts and amounts
by trade type, procedure and township, savings and premium rates, participants, stage durations,
failed lots — as a page with ECharts for operators and supervisors, XLSX and PDF downloads, a public
aggregate page on the portal and `flask stats monthly`.

Layer: with portal and opendata, above procedures, evaluation and supervision (architecture.md)."""
