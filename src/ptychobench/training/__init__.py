"""Training: loss terms (:mod:`.losses`) and the training/inference loop (:mod:`.loop`)."""
