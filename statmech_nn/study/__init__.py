"""Study files, the study runner and its report (``statmech-nn study``, ``statmech-nn report``)."""
