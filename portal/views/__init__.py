"""The customer portal, one module per subject. Thin: parse input with a form, call one service or
selector, render. Every customer view is scoped through portal/selectors.py (another customer's rows
→ 404); public views (login link, set password, webhook, accessibility statement) are marked
`view.public = True`."""
