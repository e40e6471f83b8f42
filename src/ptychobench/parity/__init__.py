"""The parity suite: checks (:mod:`.checks`) against one tolerance table and one table of
documented differences (:mod:`.tables`), the runner (:mod:`.runner`), reports
(:mod:`.report`), the amplitude decomposition (:mod:`.explain`) and the catalogue of
deliberately broken variants that proves the suite can fail (:mod:`.faults`)."""
