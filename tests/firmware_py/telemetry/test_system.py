"""Thermal zones and cpufreq through a stand-in sysfs tree (the kernel's file names and
formats: millidegrees and kHz, decimal and a newline)."""

from pathlib import Path

import pytest

from firmware_py.telemetry.system import CpuFrequency, ThermalZones


def zone(root: Path, n: int, kind: str, millideg: str | None) -> None:
    d = root / "class/thermal" / f"thermal_zone{n}"
    d.mkdir(parents=True)
    (d / "type").write_text(kind + "\n")
    if millideg is not None:
        (d / "temp").write_text(millideg + "\n")


def cpu(root: Path, n: int, khz: str) -> None:
    d = root / "devices/system/cpu" / f"cpu{n}" / "cpufreq"
    d.mkdir(parents=True)
    (d / "scaling_cur_freq").write_text(khz + "\n")


def test_hottest_zone_in_degrees(tmp_path: Path) -> None:
    zone(tmp_path, 0, "cpu-thermal", "61300")
    zone(tmp_path, 1, "gpu-thermal", "72850")
    zone(tmp_path, 2, "no-temp", None)
    zone(tmp_path, 3, "broken", "garbage")
    assert ThermalZones(str(tmp_path)).read() == {"temp_c": 72.85, "temp_zone": "gpu-thermal"}


def test_no_zones_means_no_keys_and_unreadable_means_none(tmp_path: Path) -> None:
    assert ThermalZones(str(tmp_path)).read() == {}
    zone(tmp_path, 0, "cpu-thermal", "x")
    assert ThermalZones(str(tmp_path)).read() == {"temp_c": None, "temp_zone": None}


def test_cpu_frequency_mean_and_max_in_mhz(tmp_path: Path) -> None:
    for n, khz in enumerate(("1500000", "2400000", "2400000", "600000")):
        cpu(tmp_path, n, khz)
    (tmp_path / "devices/system/cpu/cpufreq").mkdir()  # the policy folder is not a CPU
    got = CpuFrequency(str(tmp_path)).read()
    assert got["cpu_mhz"] == pytest.approx(1725.0)
    assert got["cpu_mhz_max"] == pytest.approx(2400.0)
    assert CpuFrequency(str(tmp_path / "none")).read() == {}
