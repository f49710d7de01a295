"""Open data (开放数据): OCDS 1.1.5 releases built from the audit trail, compiled records, the release
feed with cursor pagination and the export command. Read-only; sits with portal and stats in the
layer order (it reads procedures, evaluation outcomes and awards). See rules.py for the identifier,
scheme and money choices and extensions/sale for the local sale extension."""
