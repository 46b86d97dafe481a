//! cloudops-builtin-plugins: the standard plugins, embedded (work in progress).
