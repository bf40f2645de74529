"""Stand-ins for the power hardware absent here, built from the real interfaces: sysfs trees
with the kernel's file names and formats (decimal integers or strings, one per file, with a
trailing newline), and executables that print recorded output of ``tegrastats`` and
``vcgencmd pmic_read_adc``."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

# Recorded tegrastats lines. Orin Nano, JetPack 5.1 then JetPack 6 (mW units, average second).
TEGRASTATS_ORIN = [
    "04-18-2024 10:15:31 RAM 2448/7620MB (lfb 1117x4MB) SWAP 0/3810MB (cached 0MB) "
    "CPU [1%@1510,0%@1510,0%@1510,0%@1510,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@[305] "
    "VIC_FREQ 729 APE 200 CV0@46.468C CPU@48.312C SOC2@46.843C SOC0@47.312C CV1@46.75C "
    "GPU@46.312C tj@48.468C SOC1@48.468C CV2@46.125C VDD_IN 4856mW/4856mW "
    "VDD_CPU_GPU_CV 521mW/521mW VDD_SOC 1392mW/1392mW",
    "04-18-2024 10:15:32 RAM 2451/7620MB (lfb 1117x4MB) SWAP 0/3810MB (cached 0MB) "
    "CPU [38%@1510,41%@1510,35%@1510,44%@1510,off,off] EMC_FREQ 4%@2133 GR3D_FREQ 0%@[305] "
    "VIC_FREQ 729 APE 200 CV0@46.531C CPU@49.125C SOC2@46.906C SOC0@47.406C CV1@46.812C "
    "GPU@46.375C tj@49.125C SOC1@48.531C CV2@46.218C VDD_IN 6342mW/5599mW "
    "VDD_CPU_GPU_CV 1684mW/1102mW VDD_SOC 1517mW/1454mW",
    "11-05-2024 14:02:17 RAM 3102/7620MB (lfb 2x4MB) SWAP 0/3810MB (cached 0MB) "
    "CPU [12%@1510,8%@1510,9%@1510,15%@1510,3%@1510,4%@1510] GR3D_FREQ 0% cpu@49.968C "
    "soc2@48.562C soc0@49.062C gpu@48.375C tj@49.968C soc1@49.031C VDD_IN 5165mW/5032mW "
    "VDD_CPU_GPU_CV 683mW/610mW VDD_SOC 1478mW/1441mW",
]
# Jetson Nano, JetPack 4.6 (no units: milliwatts, current/average).
TEGRASTATS_NANO = [
    "RAM 1530/3964MB (lfb 3x4MB) SWAP 0/1982MB (cached 0MB) IRAM 0/252kB(lfb 252kB) "
    "CPU [6%@1479,3%@1479,2%@1479,2%@1479] EMC_FREQ 0%@1600 GR3D_FREQ 0%@76 APE 25 PLL@28C "
    "CPU@30.5C PMIC@100C GPU@29.5C AO@36C thermal@29.75C POM_5V_IN 3140/3208 POM_5V_GPU 0/0 "
    "POM_5V_CPU 733/751",
    "RAM 1534/3964MB (lfb 3x4MB) SWAP 0/1982MB (cached 0MB) IRAM 0/252kB(lfb 252kB) "
    "CPU [63%@1479,58%@1479,71%@1479,60%@1479] EMC_FREQ 3%@1600 GR3D_FREQ 0%@76 APE 25 "
    "PLL@28.5C CPU@32C PMIC@100C GPU@30C AO@36.5C thermal@30.75C POM_5V_IN 4672/3940 "
    "POM_5V_GPU 79/39 POM_5V_CPU 2132/1441",
]

# Recorded `vcgencmd pmic_read_adc` on a Raspberry Pi 5 (right-aligned, as it prints).
PMIC_READ_ADC_PI5 = """\
     3V7_WL_SW_A current(0)=0.00390372A
       3V3_SYS_A current(1)=0.05562639A
       1V8_SYS_A current(2)=0.17857080A
      DDR_VDD2_A current(3)=0.02049453A
      DDR_VDDQ_A current(4)=0.00000000A
       1V1_SYS_A current(5)=0.18837150A
        0V8_SW_A current(6)=0.35718000A
      VDD_CORE_A current(7)=0.75012000A
       3V3_DAC_A current(17)=0.00048840A
       3V3_ADC_A current(18)=0.00024420A
       0V8_AON_A current(16)=0.00439560A
          HDMI_A current(22)=0.02490840A
     3V7_WL_SW_V volt(8)=3.74432400V
       3V3_SYS_V volt(9)=3.31208400V
       1V8_SYS_V volt(10)=1.79924400V
      DDR_VDD2_V volt(11)=1.11110400V
      DDR_VDDQ_V volt(12)=0.60561600V
       1V1_SYS_V volt(13)=1.10622000V
        0V8_SW_V volt(14)=0.80012100V
      VDD_CORE_V volt(15)=0.86173300V
       3V3_DAC_V volt(20)=3.31208400V
       3V3_ADC_V volt(21)=3.31798800V
       0V8_AON_V volt(19)=0.79919700V
          HDMI_V volt(23)=5.14080000V
         EXT5V_V volt(24)=5.16092000V
          BATT_V volt(25)=0.00732600V
"""
PI5_CURRENT_RAILS = ("3V7_WL_SW", "3V3_SYS", "1V8_SYS", "DDR_VDD2", "DDR_VDDQ", "1V1_SYS",
                     "0V8_SW", "VDD_CORE", "3V3_DAC", "3V3_ADC", "0V8_AON", "HDMI")
# vcgencmd's answer to a command the firmware does not have (a Pi 4 has no PMIC ADC).
PMIC_READ_ADC_PI4 = 'error=1 error_msg="Command not registered"\n'


def write_attr(path: Path, value: object) -> Path:
    """One sysfs attribute as the kernel shows it: the value and a newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{value}\n")
    return path


def ina2xx_hwmon(sysfs: Path, hwmon: str = "hwmon0", chip: str = "ina226", bus_mv: int = 5080,
                 curr_ma: int = 612, power_uw: int | None = 3108960,
                 label: str | None = None) -> Path:
    """``/sys/class/hwmon/hwmonN`` of the ina2xx driver (Documentation/hwmon/ina2xx.rst)."""
    folder = sysfs / "class/hwmon" / hwmon
    write_attr(folder / "name", chip)
    write_attr(folder / "in0_input", 2)  # shunt voltage, mV
    write_attr(folder / "in1_input", bus_mv)
    write_attr(folder / "curr1_input", curr_ma)
    write_attr(folder / "shunt_resistor", 10000)  # uOhm
    write_attr(folder / "update_interval", 2)
    if power_uw is not None:
        write_attr(folder / "power1_input", power_uw)
    if label is not None:
        write_attr(folder / "label", label)
    return folder


# Orin Nano module rails on the 5 V input, (bus mV, mA).
ORIN_RAILS = {"VDD_IN": (5064, 958), "VDD_CPU_GPU_CV": (5048, 104), "VDD_SOC": (5048, 276)}


def ina3221_hwmon(sysfs: Path, rails: dict[str, tuple[int, int]] = ORIN_RAILS,
                  device: str = "1-0040", hwmon: str = "hwmon3") -> Path:
    """JetPack 5/6: ``/sys/bus/i2c/drivers/ina3221/<dev>/hwmon/hwmonN`` (mainline driver,
    Documentation/hwmon/ina3221.rst): three channels, sum channel, shunt voltages."""
    folder = sysfs / "bus/i2c/drivers/ina3221" / device / "hwmon" / hwmon
    write_attr(folder / "name", "ina3221")
    write_attr(folder / "update_interval", 1000)
    for channel, (label, (mv, ma)) in enumerate(rails.items(), start=1):
        write_attr(folder / f"in{channel}_label", label)
        write_attr(folder / f"in{channel}_input", mv)
        write_attr(folder / f"in{channel}_enable", 1)
        write_attr(folder / f"curr{channel}_input", ma)
        write_attr(folder / f"in{channel + 3}_input", ma * 5 // 1000)  # shunt mV (5 mOhm)
    write_attr(folder / "in7_input", sum(ma for _, ma in rails.values()) * 5 // 1000)
    write_attr(folder / "curr4_input", sum(ma for _, ma in rails.values()))
    return folder


# Jetson Nano rails, (mW, mV, mA) as the JetPack 4 IIO driver shows them.
NANO_RAILS = {"POM_5V_IN": (3140, 5016, 626), "POM_5V_GPU": (0, 5008, 0),
              "POM_5V_CPU": (733, 5008, 146)}


def ina3221x_iio(sysfs: Path, rails: dict[str, tuple[int, int, int]] = NANO_RAILS,
                 device: str = "6-0040") -> Path:
    """JetPack 4: ``/sys/bus/i2c/drivers/ina3221x/<dev>/iio:device0`` (NVIDIA's IIO driver)."""
    folder = sysfs / "bus/i2c/drivers/ina3221x" / device / "iio:device0"
    write_attr(folder / "name", "ina3221x")
    write_attr(folder / "running_mode", 1)
    for channel, (label, (mw, mv, ma)) in enumerate(rails.items()):
        write_attr(folder / f"rail_name_{channel}", label)
        write_attr(folder / f"in_power{channel}_input", mw)
        write_attr(folder / f"in_voltage{channel}_input", mv)
        write_attr(folder / f"in_current{channel}_input", ma)
    return folder


RAPL_RANGE_UJ = 262143328850  # max_energy_range_uj of a client Intel package


def rapl_zone(sysfs: Path, zone: str, name: str, energy_uj: int,
              range_uj: int = RAPL_RANGE_UJ) -> Path:
    """One powercap zone ``/sys/class/powercap/intel-rapl:N[:M]``
    (Documentation/power/powercap/powercap.rst)."""
    folder = sysfs / "class/powercap" / zone
    write_attr(folder / "name", name)
    write_attr(folder / "energy_uj", energy_uj)
    write_attr(folder / "max_energy_range_uj", range_uj)
    write_attr(folder / "enabled", 1)
    write_attr(sysfs / "class/powercap/intel-rapl/enabled", 1)  # the control type
    return folder


def proc_stat(proc: Path, cpus: list[list[int]]) -> Path:
    """``/proc/stat`` (man 5 proc): the ``cpu`` total line, one ``cpuN`` line per CPU (user
    nice system idle iowait irq softirq steal guest guest_nice), then the other counters."""
    total = [sum(column) for column in zip(*cpus, strict=True)]
    lines = ["cpu  " + " ".join(map(str, total))]
    lines += [f"cpu{i} " + " ".join(map(str, cpu)) for i, cpu in enumerate(cpus)]
    lines += ["intr 114930548 0 9 0 0", "ctxt 194278426", "btime 1712345678",
              "processes 1520321", "procs_running 2", "procs_blocked 0",
              "softirq 57512345 1 17001 3 1234 0 0 4 123 0 5678"]
    proc.mkdir(parents=True, exist_ok=True)
    path = proc / "stat"
    path.write_text("\n".join(lines) + "\n")
    return path


def executable(path: Path, body: str) -> Path:
    """A stand-in command: a Python script run by this interpreter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def tegrastats_standin(path: Path, lines: list[str], repeat: bool = True) -> Path:
    """A stand-in ``tegrastats``: prints the recorded lines every ``--interval`` ms (in a loop,
    or once and exits), and records its argv next to itself."""
    return executable(path, f"""
        import sys, time
        lines = {lines!r}
        args = sys.argv[1:]
        open({str(path) + ".argv"!r}, "w").write(" ".join(args))
        interval = int(args[args.index("--interval") + 1]) / 1000
        while True:
            for line in lines:
                print(line, flush=True)
                time.sleep(interval)
            if not {repeat!r}:
                sys.exit(0)
        """)


def vcgencmd_standin(path: Path, output: str = PMIC_READ_ADC_PI5, code: int = 0) -> Path:
    """A stand-in ``vcgencmd``: answers ``pmic_read_adc`` with recorded output and appends
    one line per call to ``<path>.calls``."""
    return executable(path, f"""
        import sys
        open({str(path) + ".calls"!r}, "a").write(" ".join(sys.argv[1:]) + "\\n")
        if sys.argv[1:] != ["pmic_read_adc"]:
            print('error=2 error_msg="Invalid arguments"')
            sys.exit(255)
        sys.stdout.write({output!r})
        sys.exit({code})
        """)


def calls(standin: Path) -> int:
    """How many times a stand-in executable has run."""
    log = Path(str(standin) + ".calls")
    return len(log.read_text().splitlines()) if log.exists() else 0


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def on_path(monkeypatch, folder: Path) -> None:
    """Put a folder of stand-in commands first on PATH."""
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
