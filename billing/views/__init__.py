"""The case worker's workspace, one module per subject. Views are thin: parse input with a form, call
one service or selector, render. htmx requests get partials, full requests the page; both from the
same view."""
