"""The expert pool (专家库): experts, their specialties, unavailable dates and declared relations."""
