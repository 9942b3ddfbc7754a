"""Weekly reports: one per académie and one national, in French, as self-contained HTML and PDF.

``write_weekly_reports`` (weekly.py) is what the ``weekly_report`` asset (assets.py) and the
``ent-equity report`` command (command.py) both call; content.py computes and protects the figures,
render.py writes the HTML, pdf.py prints it with headless Chromium, mail.py e-mails it.
"""
