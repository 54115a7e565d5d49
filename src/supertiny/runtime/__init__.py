"""Loading any model the pipeline produced and answering task examples with it."""
