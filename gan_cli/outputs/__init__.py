"""What a run leaves behind: the reporter, plots, the checkpoint format and the run folder. The one
place that prints a run's progress or writes its logs."""
