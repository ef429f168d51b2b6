"""A session playing in real time: the audio output and its clock, the playback that feeds
it, and the controls that steer it (keys, voice commands) with the status they show. Only
`coach.session` and the front ends drive it."""
