"""Phase 1B: train the flaw classifier and the correction regressor, export them to ONNX,
benchmark and predict (``clarity train | export-onnx | bench-onnx | predict``).

* :mod:`.estimators`: the classifiers (LightGBM, the seed's Random Forest), the Extra-Trees
  regressor, temperature calibration;
* :mod:`.evaluate`: grouped K-fold and leave-source-out cross-validation and their metrics;
* :mod:`.train`: ``clarity train`` end to end, publishing ``models/`` whole;
* :mod:`.onnx_export`: ONNX graphs with a parity check, latency bench, ``predict``.
"""
