"""Domain logic: free of HTTP, boto3 and PynamoDB. It talks to the world through `ports`."""
