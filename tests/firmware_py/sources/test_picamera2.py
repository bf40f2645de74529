"""picamera2 source, driven through ``Picamera2StandIn``: a stand-in for ``picamera2.Picamera2``
(which needs a Pi and libcamera) with the same methods, returning arrays in the real formats:
``RGB888`` is ``[B, G, R]`` in memory, ``BGR888`` is ``[R, G, B]``, and ``YUV420`` comes as a
``(h * 3 / 2, stride)`` planar I420 array with its row padding left in."""

import cv2
import numpy as np
import pytest

from firmware_py.sources import SourceError, create_source
from firmware_py.sources.capture import Capture, CaptureConfig
from firmware_py.sources.picamera2 import Picamera2Config, Picamera2Source, yuv420_to_rgb


def scene(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth RGB test image (chroma subsampling barely changes it)."""
    y, x = np.mgrid[0:height, 0:width]
    r = 128 + 100 * np.sin(x / width * 3 + seed)
    g = 128 + 100 * np.cos(y / height * 2 + seed)
    b = 60 + 0 * x + 20 * seed
    return np.stack([r, g, b], -1).astype(np.uint8)


def pad_i420(rgb: np.ndarray, stride: int) -> np.ndarray:
    """RGB -> picamera2's YUV420 array: each plane's rows padded to the stride."""
    h, w = rgb.shape[:2]
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)  # (h*w*3/2,)
    y = np.zeros((h, stride), np.uint8)
    y[:, :w] = i420[: h * w].reshape(h, w)
    uv = np.zeros((2, h // 2, stride // 2), np.uint8)
    uv[:, :, : w // 2] = i420[h * w:].reshape(2, h // 2, w // 2)
    return np.concatenate([y.reshape(-1), uv.reshape(-1)]).reshape(h * 3 // 2, stride)


class RequestStandIn:
    """Stand-in for picamera2's CompletedRequest."""

    def __init__(self, camera: "Picamera2StandIn") -> None:
        self.camera, self.released = camera, False
        self.seed = camera.frames

    def make_array(self, name: str) -> np.ndarray:
        assert not self.released, "make_array after release"
        return self.camera.render(name, self.seed)

    def release(self) -> None:
        self.released = True
        self.camera.outstanding -= 1


class Picamera2StandIn:
    """Stand-in for ``picamera2.Picamera2`` with the methods the source uses."""

    instances: list["Picamera2StandIn"] = []

    def __init__(self, camera_num: int = 0, fail_after: int | None = None) -> None:
        self.camera_num, self.fail_after = camera_num, fail_after
        self.config: dict | None = None
        self.started = self.closed = False
        self.frames = self.outstanding = 0
        Picamera2StandIn.instances.append(self)

    def create_video_configuration(self, main: dict, lores: dict | None = None,
                                   controls: dict | None = None,
                                   buffer_count: int = 6) -> dict:
        return {"use_case": "video", "main": dict(main), "lores": dict(lores or {}),
                "controls": dict(controls or {}), "buffer_count": buffer_count}

    def configure(self, config: dict) -> None:
        # libcamera aligns strides; a 64-byte alignment leaves padding on small widths
        for name in ("main", "lores"):
            w = config[name]["size"][0]
            bpp = 3 if config[name]["format"] in ("RGB888", "BGR888") else 1
            config[name]["stride"] = -(-w * bpp // 64) * 64
        self.config = config

    def camera_configuration(self) -> dict:
        return self.config

    def start(self) -> None:
        assert self.config is not None, "start before configure"
        self.started = True

    def render(self, name: str, seed: int) -> np.ndarray:
        stream = self.config[name]
        w, h = stream["size"]
        rgb = scene(w, h, seed)
        if stream["format"] == "RGB888":
            return rgb[:, :, ::-1].copy()  # picamera2's RGB888 is [B, G, R] in memory
        if stream["format"] == "BGR888":
            return rgb
        assert stream["format"] == "YUV420"
        return pad_i420(rgb, stream["stride"])

    def capture_request(self) -> RequestStandIn:
        assert self.started, "capture before start"
        if self.fail_after is not None and self.frames >= self.fail_after:
            raise RuntimeError("Camera frontend has timed out!")
        request = RequestStandIn(self)  # rendered from frame number self.frames
        self.outstanding += 1
        self.frames += 1
        return request

    def capture_array(self, name: str = "main") -> np.ndarray:
        request = self.capture_request()
        try:
            return request.make_array(name)
        finally:
            request.release()

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


MAIN, LORES = (320, 240), (100, 60)  # lores stride 128 != width 100: padding to remove


def source(**overrides) -> Picamera2Source:
    cfg = Picamera2Config(main_size=MAIN, lores_size=LORES, **overrides)
    return Picamera2Source(cfg, camera_factory=Picamera2StandIn)


def test_requests_main_rgb888_and_lores_yuv420_and_starts() -> None:
    with source(fps=25.0, camera_num=1) as cam:
        standin = cam._camera
        assert standin.camera_num == 1 and standin.started
        assert standin.config["main"]["format"] == "RGB888"
        assert standin.config["main"]["size"] == MAIN
        assert standin.config["lores"] == {"size": LORES, "format": "YUV420", "stride": 128}
        assert standin.config["controls"] == {"FrameRate": 25.0}
    assert standin.closed and not standin.started


def test_main_is_swapped_to_rgb_and_lores_is_unpadded_and_converted() -> None:
    with source() as cam:
        streams = cam.read()
        assert cam._camera.outstanding == 0  # every request went back to libcamera
    expected_main = scene(*MAIN, seed=0)
    np.testing.assert_array_equal(streams.main, expected_main)
    assert streams.lores.shape == (LORES[1], LORES[0], 3)
    expected_lores = scene(*LORES, seed=0)
    exact = cv2.cvtColor(cv2.cvtColor(expected_lores, cv2.COLOR_RGB2YUV_I420),
                         cv2.COLOR_YUV2RGB_I420)
    np.testing.assert_array_equal(streams.lores, exact)
    assert np.abs(streams.lores.astype(int) - expected_lores).mean() < 4


def test_yuv420_chroma_planes_are_not_swapped() -> None:
    rgb = np.zeros((16, 32, 3), np.uint8)
    rgb[..., 0] = 220  # pure-ish red: a U/V swap would turn it blue
    out = yuv420_to_rgb(pad_i420(rgb, 64), 32)
    assert np.abs(out.astype(int) - rgb).max() <= 3


def test_bgr888_main_passes_through_and_gray_lores_is_the_y_plane() -> None:
    with source(main_format="BGR888", lores_mode="gray") as cam:
        streams = cam.read()
    np.testing.assert_array_equal(streams.main, scene(*MAIN, seed=0))
    y = cv2.cvtColor(scene(*LORES, seed=0), cv2.COLOR_RGB2YUV_I420)[: LORES[1]]
    np.testing.assert_array_equal(streams.lores, y)


def test_main_and_lores_come_from_the_same_request() -> None:
    with source() as cam:
        cam.read()
        streams = cam.read()  # the second frame: both streams rendered with seed 1
    np.testing.assert_array_equal(streams.main, scene(*MAIN, seed=1))
    lores = cv2.cvtColor(cv2.cvtColor(scene(*LORES, seed=1), cv2.COLOR_RGB2YUV_I420),
                         cv2.COLOR_YUV2RGB_I420)
    np.testing.assert_array_equal(streams.lores, lores)


def test_unpadded_yuv420_converts_like_opencv() -> None:
    rgb = scene(64, 32, seed=2)
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    np.testing.assert_array_equal(yuv420_to_rgb(i420, 64),
                                  cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420))
    np.testing.assert_array_equal(yuv420_to_rgb(pad_i420(rgb, 96), 64),
                                  cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420))


def test_a_camera_timeout_is_a_source_error_and_the_capture_reconnects() -> None:
    Picamera2StandIn.instances.clear()
    def first_camera_times_out(n: int) -> Picamera2StandIn:
        return Picamera2StandIn(n, fail_after=2 if not Picamera2StandIn.instances else None)

    cam = Picamera2Source(Picamera2Config(main_size=MAIN, lores_size=LORES),
                          camera_factory=first_camera_times_out)
    # drop=False: a consumer slower than the stand-in camera (a loaded CI machine) still
    # gets every frame, so the ids below do not depend on timing
    capture = Capture(cam, CaptureConfig(backoff_initial_s=0.01, drop=False))
    queue = capture.attach()
    with capture:
        ids = [queue.get(2.0).frame_id for _ in range(3)]
        stats = capture.stats()
    assert ids == [0, 1, 2]
    assert stats.reconnects == 1 and "timed out" in stats.last_error
    assert len(Picamera2StandIn.instances) == 2 and Picamera2StandIn.instances[0].closed


def test_without_picamera2_installed_open_says_what_to_install() -> None:
    cam = create_source({"type": "picamera2"})
    try:
        import picamera2  # noqa: F401
    except ImportError:
        with pytest.raises(SourceError, match="picamera2"):
            cam.open()
    else:
        pytest.skip("picamera2 is installed here")


def test_lores_must_fit_main_and_be_even() -> None:
    with pytest.raises(ValueError):
        Picamera2Config(main_size=(320, 240), lores_size=(640, 480))
    with pytest.raises(ValueError):
        Picamera2Config(lores_size=(321, 240))
