"""Phase 1B: train the flaw classifier and the correction regressor, export them to ONNX,
benchmark and predict (``clarity train | export-onnx | bench-onnx | predict``).

* :mod:`.estimators`: the classifiers (LightGBM, the seed's Random Forest) and the
  Extra-Trees regressor;
* :mod:`.evaluate`: grouped K-fold and leave-source-out splits, out-of-fold predictions;
* :mod:`.metrics`: what they measure (:class:`~.metrics.CVMetrics`, ``metrics.json``);
* :mod:`.select`: which classifier is kept; :mod:`.calibrate`: its temperature;
* :mod:`.train`: ``clarity train`` end to end;
* :mod:`.artifacts`: the ``models/`` set (load, publish whole);
* :mod:`.export`: ONNX graphs with a parity check; :mod:`.bench`: latency;
  :mod:`.predict`: audio files -> flaw and corrections through the ONNX models.
"""
