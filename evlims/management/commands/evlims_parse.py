"""Parse an instrument export from the command line; never touches the database."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evlims.instruments.parsers import FORMATS, ParseError, ParticleParseResult, parse_bytes


class Command(BaseCommand):
    help = "Parse an instrument export (NanoSight, ZetaView, SoftMax Pro, EnSight, generic table) and print it."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the export to parse")
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS], help="format (default: detect)")
        parser.add_argument("--plate-map", help="plate map JSON for a BCA plate (standards, blanks, samples)")
        parser.add_argument("--mapping", help="column mapping JSON for the generic format")
        parser.add_argument("--fit", choices=["linear", "quadratic"], help="standard-curve model (with --plate-map)")
        parser.add_argument("--read", help="Gen5/EnVision: the absorbance plate to read (its name or wavelength)")
        parser.add_argument("--dilution-factor", type=float, help="dilution of the measured sample (particle files)")
        parser.add_argument("--json", action="store_true", help="print the full result as JSON")

    def handle(self, *args, **options):
        path = Path(options["file"])
        parse_options = {}
        if options["plate_map"]:
            parse_options["plate_map"] = self._read_json(options["plate_map"], "--plate-map")
        if options["mapping"]:
            parse_options["mapping"] = self._read_json(options["mapping"], "--mapping")
        if options["fit"]:
            parse_options["fit"] = options["fit"]
        if options["read"]:
            parse_options["read"] = options["read"]
        if options["dilution_factor"] is not None:
            parse_options["dilution_factor"] = options["dilution_factor"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror or error}")
        try:
            result = parse_bytes(data, options["format"], **parse_options)
        except ParseError as error:
            raise CommandError(f"{path.name}: {error}")
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(self._summary(path.name, result))

    @staticmethod
    def _read_json(location: str, option: str):
        try:
            return json.loads(Path(location).read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(f"{option}: cannot read {location}: {error.strerror or error}")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CommandError(f"{option}: {location} is not valid JSON ({error})")

    @staticmethod
    def _summary(name: str, result) -> str:
        lines = [f"{name}: {result.format}, software {result.software_version or 'not stated'}"]
        if isinstance(result, ParticleParseResult):
            for sample in result.samples:
                valid = sum(capture.valid for capture in sample.captures)
                concentration = sample.concentration_per_ml
                dilution = (
                    "dilution not recorded"
                    if sample.dilution_factor is None
                    else f"dilution {sample.dilution_factor:g} "
                    f"({'applied in file' if sample.dilution_applied_in_file else 'applied on import'})"
                )
                lines.append(
                    f"  sample {sample.name}: {valid}/{len(sample.captures)} valid captures, "
                    f"{'n/a' if concentration is None else f'{concentration:.3e}'} particles/mL, {dilution}"
                )
        else:
            plate = result.plate
            read = sum(value is not None for value in plate.values.values())
            lines.append(f"  plate {len(plate.rows)}x{len(plate.columns)}, {read} wells read, {plate.wavelength_nm} nm")
            if result.assay:
                curve = result.assay["standard_curve"]
                lines.append(f"  {curve['model']} standard curve, R² {curve['r_squared']:.4f}")
                for sample in result.assay["samples"]:
                    protein = sample["protein_ug_per_ml"]
                    position = sample["range_position"]
                    shown = f"{protein:.1f} µg/mL" if protein is not None else f"out of range ({position})"
                    lines.append(f"  sample {sample['name']}: {shown}")
        lines.extend(f"  warning: {warning}" for warning in result.warnings)
        return "\n".join(lines)
