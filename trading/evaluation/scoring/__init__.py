"""The evaluation room: conflict declarations, score sheets, the summary (汇总) and the expert pages."""
