"""From a routine file to a timeline: the routine model and its loader, the techniques, the
compiler that lays every phrase and cue on its sample, the spoken frame (pre-roll and
aftercare), the safety lines and the lint. Pure: no audio, no clocks, no printing."""
