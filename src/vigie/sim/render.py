"""Compose the frames of a scene: the street, the people and props in depth order, then the
weather or night, tampering and sensor noise.

`SceneRenderer` stages the scene once (see `choreography`) and can then render any frame on its own;
rendering frame i never depends on having rendered frame i - 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .backdrop import Backdrop, Sprite
from .camera import Camera, StreetLayout
from .choreography import CastMember, Staging, cast_members, judge, stage_scene
from .effects import (
    Image,
    add_sensor_noise,
    apply_night,
    apply_rain,
    apply_tamper,
    bag_box,
    draw_bag,
    draw_flames,
    draw_smoke,
    fire_glow,
    fire_growth,
)
from .figures import draw_figure
from .randomness import Stream, stream_rng
from .scene import Box, GroundTruth, SceneSpec

_FIRE_LIGHT_BGR = np.array([20.0, 90.0, 160.0], dtype=np.float32)


class SceneRenderer:
    """A staged scene, ready to render any of its frames."""

    def __init__(self, spec: SceneSpec) -> None:
        self.spec = spec
        self.camera = Camera(spec.width, spec.height)
        self.layout = StreetLayout.from_seed(stream_rng(spec.seed, Stream.LAYOUT), self.camera)
        self.staging: Staging = stage_scene(spec, self.camera, self.layout)
        self.cast: list[CastMember] = cast_members(self.staging, self.camera, spec.fps)
        self.truth: GroundTruth = judge(spec, self.camera, self.staging, self.cast)
        self.backdrop = Backdrop.build(
            self.camera,
            self.layout,
            stream_rng(spec.seed, Stream.BACKDROP),
            corridor=self.staging.corridor,
            night=spec.variant == "night",
        )
        self._glow = None if self.staging.fire is None else _FireLight(self.camera, self.staging)

    def render(self, index: int) -> Image:
        """Frame `index` as a BGR uint8 array of shape (height, width, 3)."""
        if not 0 <= index < self.spec.frame_count:
            raise IndexError(f"frame {index} is outside 0..{self.spec.frame_count - 1}")
        canvas = self.backdrop.image.copy()
        flames = self._paint_scene(canvas, index)
        if self._glow is not None:
            self._glow.add(canvas, index, self.spec.fps, strength=40.0)
        if self.spec.variant == "night":
            lit = canvas.copy() if flames is not None else None
            assert self.backdrop.night_lights is not None
            canvas = apply_night(canvas, self.backdrop.night_lights)
            if self._glow is not None:
                self._glow.add(canvas, index, self.spec.fps, strength=70.0)
            if lit is not None and flames is not None:
                # Flames give their own light: they stay bright however dark the night.
                np.copyto(canvas, lit, where=(flames > 0)[..., None])
        elif self.spec.variant == "rain":
            canvas = apply_rain(canvas, self.spec.seed, index)
        if self.staging.tamper is not None:
            canvas = apply_tamper(canvas, self.staging.tamper, index)
        return add_sensor_noise(canvas, self.spec.noise_sigma, self.spec.seed, index)

    def _paint_scene(self, canvas: Image, index: int) -> Image | None:
        """Paint people, the bag, the fire and the street furniture, far to near (painter's order).

        Returns the mask of flame pixels when there is a fire.
        """
        staging, camera, spec = self.staging, self.camera, self.spec
        layers: list[_Layer] = [
            _Layer(float(member.actor.z[index]), order, member.geometry.box(index), person=member)
            for order, member in enumerate(self.cast)
            if member.visible[index]
        ]
        if staging.bag is not None and index >= staging.bag.from_frame:
            layers.append(_Layer(staging.bag.z, -1, bag_box(camera, staging.bag), bag=True))
        if staging.fire is not None and index >= staging.fire.from_frame:
            # Just in front of the bin it burns in; smoke may drift anywhere above it.
            layers.append(_Layer(staging.fire.z - 0.01, -2, (0, 0, spec.width, spec.height), fire=True))
        for order, sprite in enumerate(self.backdrop.sprites):
            layers.append(_Layer(sprite.depth, 10_000 + order, sprite.box, sprite=sprite))

        drawn: list[Box] = []
        flames: Image | None = None
        for layer in sorted(layers, key=lambda layer: (-layer.depth, layer.order)):
            if layer.sprite is not None:
                # Furniture is already in the backdrop: paste it back only over what went behind it.
                if any(layer.sprite.overlaps(box) for box in drawn):
                    layer.sprite.paste(canvas)
                continue
            if layer.person is not None:
                actor = layer.person.actor
                draw_figure(canvas, layer.person.geometry, index, actor.looks, bool(actor.carrying[index]))
            elif layer.bag and staging.bag is not None:
                draw_bag(canvas, camera, staging.bag)
            elif layer.fire and staging.fire is not None:
                draw_smoke(canvas, camera, staging.fire, index, spec.fps, spec.seed)
                flames = draw_flames(canvas, camera, staging.fire, index, spec.fps, spec.seed)
            drawn.append(layer.box)
        return flames


@dataclass(frozen=True)
class _Layer:
    """One thing to paint, and where it stands (its distance from the camera, in metres)."""

    depth: float
    order: int  # breaks depth ties the same way every time
    box: Box
    person: CastMember | None = None
    bag: bool = False
    fire: bool = False
    sprite: Sprite | None = None


class _FireLight:
    """The warm light a fire casts on its surroundings, flickering with the flames."""

    def __init__(self, camera: Camera, staging: Staging) -> None:
        assert staging.fire is not None
        self.site = staging.fire
        glow = fire_glow(camera, self.site, (camera.height, camera.width))
        rows = np.flatnonzero(glow.max(axis=1) > 0.02)
        cols = np.flatnonzero(glow.max(axis=0) > 0.02)
        self.top, self.bottom = int(rows[0]), int(rows[-1]) + 1
        self.left, self.right = int(cols[0]), int(cols[-1]) + 1
        self.glow = glow[self.top : self.bottom, self.left : self.right, None] * _FIRE_LIGHT_BGR

    def add(self, canvas: Image, index: int, fps: int, strength: float) -> None:
        growth = fire_growth(self.site, index, fps)
        if growth <= 0:
            return
        flicker = 0.85 + 0.15 * np.sin(index * 2.3) * np.cos(index * 0.7)
        light = np.rint(self.glow * np.float32(growth * flicker * strength / 160.0)).astype(np.uint8)
        region = canvas[self.top : self.bottom, self.left : self.right]
        region[...] = cv2.add(region, light)
