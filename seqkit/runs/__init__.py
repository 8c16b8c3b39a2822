"""A config-driven run as a core object: ``seqkit.train`` makes one, ``seqkit.open_run`` reads
one back; the CLI's ``seqkit run``, ``sample``, ``eval`` and ``export`` only call them.

    seqkit.train(config, out)      seqkit.runs.training     every check, then the training loop
    prepare_new / prepare_resume   seqkit.runs.preparation  the parts, built and checked
    build_* (task, model, ...)     seqkit.runs.compose      a config's components
    RunDirectory                   seqkit.runs.directory    the one place a run writes
    RunSession                     seqkit.runs.session      rows, validations, checkpoints
    Scorer                         seqkit.runs.scoring      the one definition of a run's scores
    seqkit.open_run(path) -> Run   seqkit.runs.run          sample, evaluate, export
"""
