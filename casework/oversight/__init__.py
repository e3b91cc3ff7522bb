"""What managers read: the case tracker (`tracker`, written as CSV, JSON or a workbook by `exports`),
a case's timeline (`timeline`) and the monthly performance report (`report`, published by `publication`).
"""
