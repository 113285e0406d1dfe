"""Demo data for evlims: three labs, their people, donors, samples, storage, custody, isolation runs,
EV preparations and measurements, built through the same services a user's actions go through.

Everything is drawn from one seeded random generator, so a given seed and size always produce the
same records (barcodes included, on an empty database).
"""
