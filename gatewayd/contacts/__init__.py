"""The address book's pure logic: contact fields and the CSV file format. No I/O."""
