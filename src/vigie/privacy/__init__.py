"""Privacy: what footage must not show when it leaves Vigie (LAW.md section 2 and requirements 27-30).

* ``masks`` / ``transcode`` / ``mask_store``: privacy masks of fixed cameras (CSI L251-3), opaque and
  irreversible, applied on every way out (live, playback, snapshots, exports, analytics) or burnt in
  at record time (:func:`vigie.privacy.transcode.burn_in_segment`).
* ``detector`` / ``tracking`` / ``redact`` / ``redactions``: face redaction of exports as a derivative
  (own sha256, pointer to the parent, human review before release).

No biometrics anywhere in this package: faces are located as boxes to be hidden, never described,
encoded, compared or identified (décret 2023-828 art. 2; LAW.md E.35).

Importing this package loads nothing heavy: the face model loads when a detector is built.
"""
