// Filled in by the subscriber work.
