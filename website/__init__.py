"""The partnership's secure website: each person outside the partnership office acts on their own step
of a case, and only on it, through a personal link from an email (casework.links).

Server-rendered pages in the GOV.UK Design System's patterns (the `govuk-frontend` npm package, installed
by `make install`), usable without JavaScript. Every read and write goes through `casework`.
"""
