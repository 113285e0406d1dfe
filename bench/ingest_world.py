"""The world the ingestion benchmarks post to (bench_ingest.py in process, bench_http.py over HTTP): the fault
tests' instrument world (tests/integration/faults.py: a lab with its people, one sample split into aliquots, an
approved SEC protocol, a completed run of PREPARATIONS preparations, an NTA instrument with a results:write key)
and protein results posted to it. Needs Django set up and migrated."""

from tests.integration.faults import build_instrument_world, protein_result

PREPARATIONS = 20


def setup_world():
    """(lab, preparations, instrument, the key's raw value)."""
    world = build_instrument_world(preparations=PREPARATIONS, slug="bench-lab")
    return world.lab, world.preparations, world.instrument, world.raw_key


def documents(preparations, n):
    """``n`` protein results, one per post or many, spread over the preparations."""
    return [protein_result(preparations[i % len(preparations)].barcode, 10.0 + i % 97) for i in range(n)]
