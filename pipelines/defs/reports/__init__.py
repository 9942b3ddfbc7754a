"""Weekly reports: one per académie and one national, in French, as self-contained HTML and PDF.

``write_weekly_reports`` (weekly.py) is what the ``weekly_report`` asset (assets.py) and the
``ent-equity report`` command (command.py) both call. published_week.py reads the week's figures from the
serving copy, the only source of figures (the publisher is the one disclosure control: nothing here
suppresses); operations.py reads the national report's ingestion incidents from the warehouse; content.py
derives each report's figures, render.py writes the HTML, pdf.py prints it with headless Chromium, mail.py
e-mails it.
"""
