"""Make the checkout importable as ansible_collections.lbstack.rabbitmq for pytest."""
import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[2] / ".collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
# Helpers shared by the tests in subdirectories (certs.py).
UNIT = str(Path(__file__).resolve().parent)
if UNIT not in sys.path:
    sys.path.insert(0, UNIT)
