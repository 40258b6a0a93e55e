"""Prove: audit a suspect model for our watermarks (radioactivity) and fingerprints; the evidence report."""

from distillshield.audit.evidence import ReadingText, Served, ServedData, read_reading_texts, read_served
from distillshield.audit.radioactivity import PairTape, attribute_pairs, contexts_of, pairs_in, score_pairs, trajectory
from distillshield.audit.report import write_report
from distillshield.audit.run import AuditConfig, Verdict, run_audit
from distillshield.audit.suspects import EndpointSuspect, Sampling, Suspect, TransformersSuspect

__all__ = [
    "AuditConfig", "EndpointSuspect", "PairTape", "ReadingText", "Sampling", "Served", "ServedData", "Suspect",
    "TransformersSuspect", "Verdict", "attribute_pairs", "contexts_of", "pairs_in", "read_reading_texts", "read_served", "run_audit", "score_pairs", "trajectory",
    "write_report",
]
