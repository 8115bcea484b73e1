// Filled in by the evidence work.
