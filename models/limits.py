"""Detection limits shared by training validation, ``specks eval`` and ``specks detect``;
torch-free, so the command line can show them without importing torch."""

TOP_K = 100  # peaks per tile
MAX_DETS = 1000  # detections per image: tiled images can hold hundreds of objects
