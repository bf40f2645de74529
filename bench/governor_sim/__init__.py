"""The governor's simulation rig, host side (never installed on a device): a plant model of
a board running the pipeline (:mod:`.plant`), the stand-in hwmon device it writes its
readings to (:mod:`.hwmon`), and the closed loop with step-response figures
(:mod:`.simulate`). Used by ``bench/governor.py`` and the governor tests."""
