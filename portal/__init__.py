"""The borrower portal: mobile-first, server-rendered pages over the `loans` services. Views
only; the data it shows and changes belongs to `loans`."""
