"""Put tests/ on sys.path so helpers such as `fake_openai` import by name from any test or bench script."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
