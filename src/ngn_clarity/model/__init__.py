"""Phase 1B: train Random Forests on the fingerprint, export them to ONNX, benchmark and
predict (``clarity train | export-onnx | bench-onnx | predict``)."""
