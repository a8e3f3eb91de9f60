"""Body-worn cameras: dock offloads over tus, GPS tracks, device event logs, provable completeness,
and search by place and time (see docs/design/bodycam.md).

One job per module: ``registry`` (devices, officers, assignments, dock credentials), ``dockings``
(clock check, tracks, event logs), ``tus`` (the resumable-upload protocol), ``spool`` (encrypted
partial uploads), ``intake`` (a finished upload verified and imported into the vault), ``gps``
(GPX/NMEA → clean points), ``samples`` (their stored form), ``eventlog`` (device logs → events and
contradictions), ``completeness`` (logs against uploads → missing footage and gaps), ``anomalies``,
``reports``, ``geo`` (haversine, index boxes), ``spatial`` (the place-and-time index), ``search``
(index + exact post-filter), ``retention`` (tracks go with their footage), ``offload`` (the dock
client, tuspy).
"""
