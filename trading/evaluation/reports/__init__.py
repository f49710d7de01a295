"""The evaluation report (评审报告): generated from the summary, signed by every member with two-factor
confirmation (dissent recorded), then final: the lot advances and the candidates are proposed."""
