"""Project entry registration (项目进场登记), routing by amount and type, entry review.
Imports core, audit, reference, accounts."""
